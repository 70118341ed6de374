//! The recurrence of step 3: how often (with an every-weekday preset), on which weekdays or day
//! of the month (a date, the Nth weekday, the last day), at which times of the day, and when it
//! ends. Every choice is a [`Spec`], so it round-trips through RRULE as the worker reads it.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use domain::recurrence::{End, Frequency, LAST_DAY, NthWeekday, Spec, WORKING_WEEK};
use leptos::prelude::*;

use super::chips::{ChipField, ChipPicker};
use crate::{components::feedback::sentence, wire::reminders::ReminderDraft};

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Places of a weekday in the month the wizard offers, as RFC 5545 numbers them.
const PLACES: [(i8, &str); 6] = [
    (1, "1st"),
    (2, "2nd"),
    (3, "3rd"),
    (4, "4th"),
    (5, "5th"),
    (-1, "last"),
];

pub(super) fn default_spec() -> Spec {
    Spec::every(Frequency::Weekly, 1)
}

/// Updates the draft's rule, if it has one.
fn update_rule(draft: RwSignal<ReminderDraft>, change: impl FnOnce(&mut Spec)) {
    draft.update(|d| {
        if let Some(spec) = d.repeat.as_mut() {
            change(spec);
        }
    });
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

/// `draft` also sending at `extra`; or why it cannot.
fn with_time(draft: &ReminderDraft, extra: NaiveTime) -> Result<Vec<NaiveTime>, String> {
    let start = parse_time(&draft.time).ok_or("Enter the time above first.")?;
    if start == extra || draft.also.contains(&extra) {
        return Err(format!("It already sends at {}.", extra.format("%H:%M")));
    }
    let mut also = draft.also.clone();
    also.push(extra);
    also.sort_unstable();
    let changed = ReminderDraft {
        also: also.clone(),
        ..draft.clone()
    };
    if let Some(spec) = changed.rule_at(start) {
        spec.validate().map_err(|e| sentence(&e.to_string()))?;
    }
    Ok(also)
}

/// Frequency, interval, weekdays or day of month, times of day, and the end.
#[component]
pub(super) fn RuleFields(draft: RwSignal<ReminderDraft>) -> impl IntoView {
    let spec = Memo::new(move |_| draft.read().repeat.clone().unwrap_or_else(default_spec));
    let frequency = Memo::new(move |_| spec.get().frequency);
    let every_weekday = Memo::new(move |_| {
        let s = spec.get();
        s.frequency == Frequency::Weekly && s.interval == 1 && s.weekdays == WORKING_WEEK
    });
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
                        update_rule(draft, |s| choose_frequency(s, &value));
                    }>
                    {[("daily", "Daily"), ("weekdays", "Every weekday (Mon–Fri)"), ("weekly", "Weekly"), ("monthly", "Monthly"), ("yearly", "Yearly")]
                        .into_iter()
                        .map(|(value, label)| {
                            let selected = move || match value {
                                "weekdays" => every_weekday.get(),
                                "weekly" => frequency.get() == Frequency::Weekly && !every_weekday.get(),
                                "daily" => frequency.get() == Frequency::Daily,
                                "monthly" => frequency.get() == Frequency::Monthly,
                                _ => frequency.get() == Frequency::Yearly,
                            };
                            view! { <option value=value selected=selected>{label}</option> }
                        })
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
        {move || (frequency.get() == Frequency::Monthly).then(|| view! { <MonthDayChoice draft spec /> })}
        <TimesOfDay draft />
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

/// Applies the "Repeats" choice; weekdays and a day of the month belong to one frequency each.
fn choose_frequency(spec: &mut Spec, value: &str) {
    spec.frequency = match value {
        "daily" => Frequency::Daily,
        "monthly" => Frequency::Monthly,
        "yearly" => Frequency::Yearly,
        _ => Frequency::Weekly,
    };
    if value == "weekdays" {
        spec.interval = 1;
        spec.weekdays = WORKING_WEEK.to_vec();
    } else if spec.frequency != Frequency::Weekly || spec.weekdays == WORKING_WEEK {
        spec.weekdays.clear();
    }
    if spec.frequency != Frequency::Monthly {
        spec.month_day = None;
        spec.month_weekday = None;
    }
}

/// A monthly rule's day: a date (the start's by default), a weekday by its place, or the last.
#[component]
fn MonthDayChoice(draft: RwSignal<ReminderDraft>, spec: Memo<Spec>) -> impl IntoView {
    let start_date = move || NaiveDate::parse_from_str(&draft.read().date, "%Y-%m-%d").ok();
    // The weekday choice starts from the start date's own place, e.g. its 2nd Tuesday.
    let start_place = move || {
        let date = start_date().unwrap_or_default();
        NthWeekday {
            nth: i8::try_from((date.day() - 1) / 7 + 1).unwrap_or(1),
            day: date.weekday(),
        }
    };
    let by_weekday = move || spec.get().month_weekday.is_some();
    let last_day = move || spec.get().month_day == Some(LAST_DAY);
    let place = move || spec.get().month_weekday.unwrap_or_else(start_place);
    let set_place = move |change: &dyn Fn(&mut NthWeekday)| {
        let mut chosen = place();
        change(&mut chosen);
        update_rule(draft, |s| {
            s.month_day = None;
            s.month_weekday = Some(chosen);
        });
    };
    view! {
        <fieldset class="field">
            <legend class="field-label">"On"</legend>
            <div class="end-choices" data-testid="month-on">
                <label class="radio">
                    <input type="radio" name="month-on" data-testid="month-on-day" prop:checked=move || !by_weekday() && !last_day()
                        on:change=move |_| update_rule(draft, |s| { s.month_day = None; s.month_weekday = None; }) />
                    "Day"
                    <input class="input input-narrow" type="number" id="month-day" min="1" max="31" inputmode="numeric" aria-label="Day of the month"
                        disabled=move || by_weekday() || last_day()
                        prop:value=move || match spec.get().month_day {
                            Some(day) if day > 0 => day.to_string(),
                            _ => start_date().map(|d| d.day().to_string()).unwrap_or_default(),
                        }
                        on:input=move |e| {
                            let day = event_target_value(&e).parse::<i8>().ok().filter(|d| *d > 0);
                            update_rule(draft, |s| s.month_day = day);
                        } />
                </label>
                <label class="radio">
                    <input type="radio" name="month-on" data-testid="month-on-weekday" prop:checked=by_weekday
                        on:change=move |_| set_place(&|_| {}) />
                    "The"
                    <select class="input input-narrow" aria-label="Which one in the month" data-testid="month-nth"
                        disabled=move || !by_weekday()
                        on:change=move |e| {
                            let nth = event_target_value(&e).parse::<i8>().unwrap_or(1);
                            set_place(&|p| p.nth = nth);
                        }>
                        {PLACES.into_iter().map(|(nth, label)| view! {
                            <option value=nth.to_string() selected=move || place().nth == nth>{label}</option>
                        }).collect_view()}
                    </select>
                    <select class="input input-narrow" aria-label="Weekday" data-testid="month-weekday"
                        disabled=move || !by_weekday()
                        on:change=move |e| {
                            let value = event_target_value(&e);
                            if let Some(day) = WEEKDAYS.into_iter().find(|d| d.to_string() == value) {
                                set_place(&|p| p.day = day);
                            }
                        }>
                        {WEEKDAYS.into_iter().map(|day| view! {
                            <option value=day.to_string() selected=move || place().day == day>{day.to_string()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="radio">
                    <input type="radio" name="month-on" data-testid="month-on-last-day" prop:checked=last_day
                        on:change=move |_| update_rule(draft, |s| { s.month_weekday = None; s.month_day = Some(LAST_DAY); }) />
                    "The last day"
                </label>
            </div>
            <p class="muted field-hint">{move || if place().nth == 5 && by_weekday() {
                "Months without a 5th are skipped."
            } else {
                "Months without that day are skipped."
            }}</p>
        </fieldset>
    }
}

/// Several times a day: the start's time plus any added here, each removable.
#[component]
fn TimesOfDay(draft: RwSignal<ReminderDraft>) -> impl IntoView {
    let chips = Signal::derive(move || {
        let d = draft.read();
        let start = parse_time(&d.time);
        d.also
            .iter()
            .filter(|t| Some(**t) != start)
            .map(|t| (*t, t.format("%H:%M").to_string()))
            .collect::<Vec<_>>()
    });
    let on_add = Callback::new(move |picked: String| {
        let time = parse_time(&picked).ok_or("Choose a time to add, such as 17:00.")?;
        let also = draft.with_untracked(|d| with_time(d, time))?;
        draft.update(|d| d.also = also);
        Ok(())
    });
    let field = ChipField {
        legend: "Also at (optional)",
        list_testid: "extra-times",
        input_type: "time",
        input_label: "Another time of day",
        input_testid: "extra-time",
        add_text: "Add a time",
        add_testid: "add-time",
        problem_id: "times-problem",
        remove_label: |label| format!("Do not send at {label}"),
    };
    view! {
        <ChipPicker field chips
            on_remove=Callback::new(move |time| draft.update(|d| d.also.retain(|t| *t != time)))
            on_add />
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
    use chrono::{NaiveDate, NaiveTime, Weekday};
    use domain::recurrence::Frequency;

    use domain::recurrence::WORKING_WEEK;

    use super::{choose_frequency, default_spec, toggle_weekday, with_time};
    use crate::wire::reminders::ReminderDraft;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

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

    #[test]
    fn every_weekday_is_a_weekly_rule_on_monday_to_friday() {
        let mut spec = default_spec();
        spec.interval = 3;
        choose_frequency(&mut spec, "weekdays");
        assert_eq!(spec.frequency, Frequency::Weekly);
        assert_eq!(
            (spec.interval, spec.weekdays.as_slice()),
            (1, &WORKING_WEEK[..])
        );
        assert_eq!(spec.to_rrule(), "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR");
        // Back to plain weekly: the start's weekday again.
        choose_frequency(&mut spec, "weekly");
        assert!(spec.weekdays.is_empty());
    }

    #[test]
    fn other_times_of_day_are_kept_apart_from_the_start() {
        let mut draft = ReminderDraft {
            time: "09:00".into(),
            repeat: Some(default_spec()),
            ..ReminderDraft::default()
        };
        draft.also = with_time(&draft, at(17, 0)).unwrap();
        assert_eq!(
            with_time(&draft, at(17, 0)).unwrap_err(),
            "It already sends at 17:00."
        );
        assert!(
            with_time(&draft, at(17, 30))
                .unwrap_err()
                .starts_with("The times of day must share their minutes")
        );
        let rule = |d: &ReminderDraft, h| d.rule_at(at(h, 0)).unwrap().times;
        assert_eq!(rule(&draft, 9), [at(9, 0), at(17, 0)]);
        // The start stepping through every hour (a picker's arrows) keeps 17:00 throughout.
        for hour in 10..=17 {
            draft.time = format!("{hour:02}:00");
        }
        assert_eq!(draft.also, [at(17, 0)]);
        assert_eq!(
            rule(&draft, 17),
            Vec::<NaiveTime>::new(),
            "one time left is the start's own"
        );
        assert_eq!(rule(&draft, 8), [at(8, 0), at(17, 0)]);
        draft.time = String::new();
        assert!(with_time(&draft, at(12, 0)).is_err(), "no start time yet");
    }
}
