//! The pages, one module per area.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

pub mod accounts;
pub mod agenda;
pub mod audit;
pub mod dashboard;
pub mod jobs;
pub mod login;
pub mod not_found;
pub mod reminders;
pub mod runs;
pub mod settings;
pub mod system;

/// The route's `:name` segment as an id; `None` when it is not a number (the page then says
/// there is no such thing).
pub(crate) fn id_param(name: &'static str) -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get(name)
            .and_then(|id| id.parse::<i64>().ok())
    })
}
