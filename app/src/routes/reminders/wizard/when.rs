//! Step 3: when it fires — once at a date and time, or on a recurrence (every N days, weeks on
//! chosen weekdays, months on a day, years; ending never, after N times or on a date) — in a
//! time zone, with dates a recurrence skips and an optional hour the send window ends. The
//! summary and the next five fires are computed here in the browser by the same rules the worker
//! fires by.

use chrono::{Datelike, NaiveDate, Weekday};
use domain::{
    recurrence::{End, Frequency, Spec},
    timezone::TimeZone,
};
use leptos::prelude::*;

use super::{FieldProblem, WizardContext};
use crate::{clock, wire::reminders::ReminderDraft};

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// How many fires the preview lists.
const PREVIEW: usize = 5;

fn default_spec() -> Spec {
    Spec {
        frequency: Frequency::Weekly,
        interval: 1,
        weekdays: Vec::new(),
        month_day: None,
        end: End::Never,
    }
}

/// Updates the draft's rule, if it has one.
fn update_rule(draft: RwSignal<ReminderDraft>, change: impl FnOnce(&mut Spec)) {
    draft.update(|d| {
        if let Some(spec) = d.repeat.as_mut() {
            change(spec);
        }
    });
}

#[component]
pub(super) fn WhenStep() -> impl IntoView {
    let ctx = expect_context::<WizardContext>();
    let draft = ctx.draft;
    let repeating = Memo::new(move |_| draft.read().repeat.is_some());
    let preview = Memo::new(move |_| {
        let d = draft.read();
        let summary = d.schedule().map(|s| s.summary());
        let next = d.upcoming(clock::now(), PREVIEW);
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
                            {times.into_iter().map(|at| view! { <li>{at.format("%a %-d %b %Y, %H:%M").to_string()}</li> }).collect_view()}
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

/// Frequency, interval, weekdays or day of month, and the end.
#[component]
fn RuleFields(draft: RwSignal<ReminderDraft>) -> impl IntoView {
    let spec = Memo::new(move |_| draft.read().repeat.clone().unwrap_or_else(default_spec));
    let frequency = Memo::new(move |_| spec.get().frequency);
    let unit = move || match (frequency.get(), spec.get().interval) {
        (Frequency::Daily, 1) => "day",
        (Frequency::Daily, _) => "days",
        (Frequency::Weekly, 1) => "week",
        (Frequency::Weekly, _) => "weeks",
        (Frequency::Monthly, 1) => "month",
        (Frequency::Monthly, _) => "months",
        (Frequency::Yearly, 1) => "year",
        (Frequency::Yearly, _) => "years",
    };
    let start_date = move || NaiveDate::parse_from_str(&draft.read().date, "%Y-%m-%d").ok();
    view! {
        <div class="field-grid rule">
            <div class="field">
                <label class="field-label" for="frequency">"Repeats"</label>
                <select class="input" id="frequency" data-testid="frequency"
                    on:change=move |e| {
                        let value = event_target_value(&e);
                        update_rule(draft, |s| {
                            s.frequency = match value.as_str() {
                                "daily" => Frequency::Daily,
                                "monthly" => Frequency::Monthly,
                                "yearly" => Frequency::Yearly,
                                _ => Frequency::Weekly,
                            };
                            // Weekdays and a day of the month belong to one frequency each.
                            if s.frequency != Frequency::Weekly { s.weekdays.clear(); }
                            if s.frequency != Frequency::Monthly { s.month_day = None; }
                        });
                    }>
                    {[(Frequency::Daily, "daily", "Daily"), (Frequency::Weekly, "weekly", "Weekly"), (Frequency::Monthly, "monthly", "Monthly"), (Frequency::Yearly, "yearly", "Yearly")]
                        .into_iter()
                        .map(|(f, value, label)| view! { <option value=value selected=move || frequency.get() == f>{label}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label class="field-label" for="interval">"Every"</label>
                <span class="input-with-unit">
                    <input class="input input-narrow" type="number" id="interval" min="1" max="999" inputmode="numeric" data-testid="interval"
                        prop:value=move || spec.get().interval.to_string()
                        on:input=move |e| {
                            if let Ok(n) = event_target_value(&e).parse::<u16>() {
                                update_rule(draft, |s| s.interval = n);
                            }
                        } />
                    <span>{unit}</span>
                </span>
            </div>
        </div>
        {move || (frequency.get() == Frequency::Weekly).then(|| view! {
            <fieldset class="field">
                <legend class="field-label">"On"</legend>
                <div class="weekday-picker" data-testid="weekdays">
                    {WEEKDAYS.into_iter().map(|day| {
                        let checked = move || {
                            let s = spec.get();
                            if s.weekdays.is_empty() {
                                start_date().is_some_and(|d| d.weekday() == day)
                            } else {
                                s.weekdays.contains(&day)
                            }
                        };
                        view! {
                            <label class="weekday">
                                <input type="checkbox" prop:checked=checked data-testid=format!("weekday-{day}")
                                    on:change=move |_| {
                                        // Read before the update: the draft is locked inside it.
                                        let start = start_date();
                                        update_rule(draft, |s| toggle_weekday(s, day, start));
                                    } />
                                <span>{day.to_string()}</span>
                            </label>
                        }
                    }).collect_view()}
                </div>
            </fieldset>
        })}
        {move || (frequency.get() == Frequency::Monthly).then(|| view! {
            <div class="field">
                <label class="field-label" for="month-day">"On day"</label>
                <input class="input input-narrow" type="number" id="month-day" min="1" max="31" inputmode="numeric"
                    prop:value=move || spec.get().month_day.map(|d| d.to_string()).unwrap_or_else(|| start_date().map(|d| d.day().to_string()).unwrap_or_default())
                    on:input=move |e| {
                        let day = event_target_value(&e).parse::<u8>().ok();
                        update_rule(draft, |s| s.month_day = day);
                    } />
                <p class="muted field-hint">"Months without that day are skipped."</p>
            </div>
        })}
        <fieldset class="field">
            <legend class="field-label">"Ends"</legend>
            <div class="end-choices">
                <label class="radio">
                    <input type="radio" name="end" data-testid="end-never" prop:checked=move || spec.get().end == End::Never
                        on:change=move |_| update_rule(draft, |s| s.end = End::Never) />
                    "Never"
                </label>
                <label class="radio">
                    <input type="radio" name="end" data-testid="end-after" prop:checked=move || matches!(spec.get().end, End::After(_))
                        on:change=move |_| update_rule(draft, |s| s.end = End::After(10)) />
                    "After"
                    <input class="input input-narrow" type="number" min="1" aria-label="Number of times" data-testid="end-count"
                        disabled=move || !matches!(spec.get().end, End::After(_))
                        prop:value=move || match spec.get().end { End::After(n) => n.to_string(), _ => "10".to_owned() }
                        on:input=move |e| {
                            if let Ok(n) = event_target_value(&e).parse::<u32>() {
                                update_rule(draft, |s| s.end = End::After(n));
                            }
                        } />
                    "times"
                </label>
                <label class="radio">
                    <input type="radio" name="end" data-testid="end-on" prop:checked=move || matches!(spec.get().end, End::On(_))
                        on:change=move |_| {
                            let last = start_date().and_then(|d| d.checked_add_months(chrono::Months::new(3)));
                            update_rule(draft, |s| s.end = End::On(last.unwrap_or_default()));
                        } />
                    "On"
                    <input class="input" type="date" aria-label="Last date" data-testid="end-date"
                        disabled=move || !matches!(spec.get().end, End::On(_))
                        prop:value=move || match spec.get().end { End::On(d) => d.format("%Y-%m-%d").to_string(), _ => String::new() }
                        on:input=move |e| {
                            if let Ok(d) = NaiveDate::parse_from_str(&event_target_value(&e), "%Y-%m-%d") {
                                update_rule(draft, |s| s.end = End::On(d));
                            }
                        } />
                </label>
            </div>
        </fieldset>
    }
}

/// Dates a recurrence does not send on (holidays, an occurrence skipped): listed, each
/// removable, and added one at a time — only dates the rule sends on.
#[component]
fn SkipDates(draft: RwSignal<ReminderDraft>) -> impl IntoView {
    let picked = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let add = move || {
        let Ok(date) = NaiveDate::parse_from_str(picked.get_untracked().trim(), "%Y-%m-%d") else {
            problem.set(Some("Choose a date to skip.".to_owned()));
            return;
        };
        let sends_then = draft.with_untracked(|d| {
            let unskipped = ReminderDraft {
                skip: Vec::new(),
                ..d.clone()
            };
            unskipped.schedule().map(|s| s.matches(date))
        });
        match sends_then {
            Ok(true) => {
                problem.set(None);
                picked.set(String::new());
                draft.update(|d| {
                    d.skip.push(date);
                    d.skip.sort_unstable();
                    d.skip.dedup();
                });
            }
            Ok(false) => problem.set(Some(format!(
                "The reminder does not send on {}, so there is nothing to skip.",
                date.format("%a %-d %b %Y")
            ))),
            Err(why) => problem.set(Some(why)),
        }
    };
    view! {
        <fieldset class="field">
            <legend class="field-label">"Skip dates (optional)"</legend>
            <ul class="group-chips" data-testid="skip-dates">
                {move || draft.read().skip.iter().map(|date| {
                    let date = *date;
                    let label = date.format("%a %-d %b %Y").to_string();
                    view! {
                        <li class="tag">{label.clone()}
                            <button class="chip-remove" type="button" aria-label=format!("Send on {label} after all")
                                on:click=move |_| draft.update(|d| d.skip.retain(|s| *s != date))>"×"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <span class="field-row">
                <input class="input" type="date" aria-label="Date to skip" data-testid="skip-date"
                    aria-describedby="skip-problem"
                    prop:value=move || picked.get()
                    on:input=move |e| picked.set(event_target_value(&e)) />
                <button class="button button-secondary" type="button" data-testid="add-skip" on:click=move |_| add()>"Skip this date"</button>
            </span>
            {move || problem.get().map(|text| view! { <p class="field-problem" id="skip-problem" role="alert">{text}</p> })}
        </fieldset>
    }
}

/// Turns a weekday on or off. With none chosen the rule means the start's weekday, which the
/// picker shows ticked, so the first change starts from that day.
fn toggle_weekday(spec: &mut Spec, day: Weekday, start: Option<NaiveDate>) {
    if spec.weekdays.is_empty()
        && let Some(start) = start
    {
        spec.weekdays.push(start.weekday());
    }
    if let Some(i) = spec.weekdays.iter().position(|d| *d == day) {
        spec.weekdays.remove(i);
    } else {
        spec.weekdays.push(day);
    }
    spec.weekdays.sort_by_key(|d| d.num_days_from_monday());
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Weekday};

    use super::{default_spec, toggle_weekday};

    #[test]
    fn the_first_weekday_change_starts_from_the_start_date() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23);
        let mut spec = default_spec();
        toggle_weekday(&mut spec, Weekday::Fri, monday);
        assert_eq!(spec.weekdays, [Weekday::Mon, Weekday::Fri]);
        toggle_weekday(&mut spec, Weekday::Mon, monday);
        assert_eq!(spec.weekdays, [Weekday::Fri]);
        toggle_weekday(&mut spec, Weekday::Wed, monday);
        assert_eq!(spec.weekdays, [Weekday::Wed, Weekday::Fri]);
    }
}
