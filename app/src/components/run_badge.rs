//! Statuses of reminders, runs and per-group sends as badges: the words carry the meaning, the
//! colour (`.badge-ok|warn|bad|muted` in main.css) repeats it.

use domain::status::{ReminderStatus, RunStatus, TargetStatus};
use leptos::prelude::*;

/// The colour family a status is shown in.
fn tone_class(tone: Tone) -> &'static str {
    match tone {
        Tone::Ok => "badge badge-ok",
        Tone::Warn => "badge badge-warn",
        Tone::Bad => "badge badge-bad",
        Tone::Muted => "badge badge-muted",
    }
}

#[derive(Clone, Copy)]
enum Tone {
    Ok,
    Warn,
    Bad,
    Muted,
}

pub fn reminder_status_text(status: ReminderStatus) -> &'static str {
    match status {
        ReminderStatus::Active => "Active",
        ReminderStatus::Paused => "Paused",
        ReminderStatus::Ended => "Ended",
        ReminderStatus::Failed => "Failed",
    }
}

pub fn run_status_text(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Pending => "Starting",
        RunStatus::Running => "Sending",
        RunStatus::Success => "Sent",
        RunStatus::Partial => "Partly sent",
        RunStatus::Failed => "Failed",
        RunStatus::Skipped => "Skipped",
        RunStatus::Paused => "Paused",
        RunStatus::Cancelled => "Cancelled",
    }
}

pub fn target_status_text(status: TargetStatus) -> &'static str {
    match status {
        TargetStatus::Pending => "Waiting",
        TargetStatus::Sending => "Sending",
        TargetStatus::Sent => "Sent",
        TargetStatus::Failed => "Failed",
        TargetStatus::Skipped => "Skipped",
        TargetStatus::Unknown => "Unknown",
    }
}

#[component]
pub fn ReminderStatusBadge(status: ReminderStatus) -> impl IntoView {
    let tone = match status {
        ReminderStatus::Active => Tone::Ok,
        ReminderStatus::Paused => Tone::Warn,
        ReminderStatus::Ended => Tone::Muted,
        ReminderStatus::Failed => Tone::Bad,
    };
    view! {
        <span class=tone_class(tone) data-testid="reminder-status" data-status=status.as_str()>
            {reminder_status_text(status)}
        </span>
    }
}

#[component]
pub fn RunStatusBadge(status: RunStatus) -> impl IntoView {
    let tone = match status {
        RunStatus::Success => Tone::Ok,
        RunStatus::Partial | RunStatus::Paused | RunStatus::Running | RunStatus::Pending => {
            Tone::Warn
        }
        // Nothing reached: skipped is as much a problem as failed (`RunStatus::PROBLEMS`).
        RunStatus::Failed | RunStatus::Skipped => Tone::Bad,
        RunStatus::Cancelled => Tone::Muted,
    };
    view! {
        <span class=tone_class(tone) data-testid="run-status" data-status=status.as_str()>
            {run_status_text(status)}
        </span>
    }
}

#[component]
pub fn TargetStatusBadge(status: TargetStatus) -> impl IntoView {
    let tone = match status {
        TargetStatus::Sent => Tone::Ok,
        TargetStatus::Pending | TargetStatus::Sending | TargetStatus::Unknown => Tone::Warn,
        TargetStatus::Failed | TargetStatus::Skipped => Tone::Bad,
    };
    view! {
        <span class=tone_class(tone) data-testid="target-status" data-status=status.as_str()>
            {target_status_text(status)}
        </span>
    }
}
