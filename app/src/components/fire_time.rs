//! A fire's time as the reminder's zone reads it, with the operator's own beside it when that
//! reads differently.

use leptos::prelude::*;

use crate::wire::reminders::FireTime;

#[component]
pub fn FireTimeText(fire: FireTime) -> impl IntoView {
    view! {
        {fire.at}
        {fire.yours.map(|t| view! { " " <span class="muted" data-testid="your-time">{format!("({t} your time)")}</span> })}
    }
}
