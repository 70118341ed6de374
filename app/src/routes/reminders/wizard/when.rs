//! Step 3: when it fires — once at a date and time, or on a recurrence (see [`super::rule`]) —
//! in a time zone, with dates a recurrence skips and an optional hour the send window ends. The
//! summary and the next five fires are computed here in the browser by the same rules the worker
//! fires by.

use chrono::NaiveDate;
use domain::timezone::TimeZone;
use leptos::prelude::*;

use super::{
    FieldProblem, WizardContext,
    chips::{ChipField, ChipPicker},
    rule::{RuleFields, default_spec},
};
use crate::{
    clock,
    components::fire_time::FireTimeText,
    wire::reminders::{FireTime, ReminderDraft},
};

/// How many fires the preview lists.
const PREVIEW: usize = 5;

#[component]
pub(super) fn WhenStep() -> impl IntoView {
    let ctx = expect_context::<WizardContext>();
    let draft = ctx.draft;
    let repeating = Memo::new(move |_| draft.read().repeat.is_some());
    let yours = ctx.operator_timezone.get_value().parse::<TimeZone>().ok();
    let preview = Memo::new(move |_| {
        let d = draft.read();
        let summary = d.schedule().map(|s| s.summary());
        let next = d.upcoming_at(clock::now(), PREVIEW).map(|(times, zone)| {
            times
                .into_iter()
                .map(|at| FireTime::new(at, zone, yours))
                .collect::<Vec<_>>()
        });
        (summary, next)
    });
    let zones = TimeZone::all().map(TimeZone::name);

    view! {
        <fieldset class="field choice-row">
            <legend class="field-label">"How often"</legend>
            <label class="radio">
                <input type="radio" name="repeat" data-testid="once" prop:checked=move || !repeating.get()
                    on:change=move |_| draft.update(|d| d.repeat = None) />
                "Once"
            </label>
            <label class="radio">
                <input type="radio" name="repeat" data-testid="repeat" prop:checked=move || repeating.get()
                    on:change=move |_| draft.update(|d| if d.repeat.is_none() { d.repeat = Some(default_spec()); }) />
                "Repeat"
            </label>
        </fieldset>
        <div class="field-grid">
            <div class="field">
                <label class="field-label" for="date">{move || if repeating.get() { "Starting on" } else { "Date" }}</label>
                <input class="input" type="date" id="date" aria-describedby="when-problem"
                    prop:value=move || draft.read().date.clone()
                    on:input=move |e| draft.update(|d| d.date = event_target_value(&e)) />
            </div>
            <div class="field">
                <label class="field-label" for="time">"Time"</label>
                <input class="input" type="time" id="time" aria-describedby="when-problem"
                    prop:value=move || draft.read().time.clone()
                    on:input=move |e| draft.update(|d| d.time = event_target_value(&e)) />
            </div>
            <div class="field">
                <label class="field-label" for="timezone">"Time zone"</label>
                <input class="input" id="timezone" list="timezones" autocomplete="off" spellcheck="false"
                    aria-describedby="when-problem"
                    prop:value=move || draft.read().timezone.clone()
                    on:change=move |e| draft.update(|d| d.timezone = event_target_value(&e)) />
                <datalist id="timezones">
                    {zones.map(|name| view! { <option value=name></option> }).collect_view()}
                </datalist>
                <p class="muted field-hint">{move || format!("Yours: {}", ctx.operator_timezone.get_value())}</p>
            </div>
        </div>
        {move || repeating.get().then(|| view! { <RuleFields draft /> <SkipDates draft /> })}
        <div class="field">
            <label class="field-label" for="window">"Stop sending at (optional)"</label>
            <select class="input" id="window" data-testid="window"
                on:change=move |e| {
                    let value = event_target_value(&e);
                    draft.update(|d| d.window_end_hour = value.parse().ok());
                }>
                <option value="" selected=move || draft.read().window_end_hour.is_none()>"No send window"</option>
                {(0u8..24).map(|h| view! {
                    <option value=h selected=move || draft.read().window_end_hour == Some(h)>{format!("{h:02}:00")}</option>
                }).collect_view()}
            </select>
            <p class="muted field-hint">"If a run is still sending at this local hour (with many groups, or after downtime), it pauses and you decide whether to send the rest."</p>
        </div>
        <div class="schedule-preview" aria-live="polite" data-testid="schedule-preview">
            {move || {
                let (summary, next) = preview.get();
                match (summary, next) {
                    (Ok(summary), Ok(times)) => view! {
                        <p class="schedule-summary" data-testid="schedule-summary">{summary}</p>
                        <p class="field-label">"Next fires"</p>
                        <ol class="upcoming" data-testid="upcoming">
                            {times.into_iter().map(|fire| view! { <li><FireTimeText fire /></li> }).collect_view()}
                        </ol>
                    }.into_any(),
                    (Ok(summary), Err(why)) => view! {
                        <p class="schedule-summary">{summary}</p>
                        <p class="field-problem" data-testid="schedule-problem">{why}</p>
                    }.into_any(),
                    (Err(why), _) => view! { <p class="field-problem" data-testid="schedule-problem">{why}</p> }.into_any(),
                }
            }}
        </div>
        <FieldProblem field="when" />
    }
}

/// Dates a recurrence does not send on (holidays, an occurrence skipped): listed, each
/// removable, and added one at a time — only dates the rule sends on.
#[component]
fn SkipDates(draft: RwSignal<ReminderDraft>) -> impl IntoView {
    let chips = Signal::derive(move || {
        draft
            .read()
            .skip
            .iter()
            .map(|date| (*date, date.format("%a %-d %b %Y").to_string()))
            .collect::<Vec<_>>()
    });
    let on_add = Callback::new(move |picked: String| {
        let date = NaiveDate::parse_from_str(picked.trim(), "%Y-%m-%d")
            .map_err(|_| "Choose a date to skip.".to_owned())?;
        let sends_then = draft.with_untracked(|d| {
            let unskipped = ReminderDraft {
                skip: Vec::new(),
                ..d.clone()
            };
            unskipped.schedule().map(|s| s.matches(date))
        })?;
        if !sends_then {
            return Err(format!(
                "The reminder does not send on {}, so there is nothing to skip.",
                date.format("%a %-d %b %Y")
            ));
        }
        draft.update(|d| {
            d.skip.push(date);
            d.skip.sort_unstable();
            d.skip.dedup();
        });
        Ok(())
    });
    let field = ChipField {
        legend: "Skip dates (optional)",
        list_testid: "skip-dates",
        input_type: "date",
        input_label: "Date to skip",
        input_testid: "skip-date",
        add_text: "Skip this date",
        add_testid: "add-skip",
        problem_id: "skip-problem",
        remove_label: |label| format!("Send on {label} after all"),
    };
    view! {
        <ChipPicker field chips
            on_remove=Callback::new(move |date| draft.update(|d| d.skip.retain(|s| *s != date)))
            on_add />
    }
}
