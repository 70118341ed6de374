//! Values shown as removable chips, with a field that adds one: the dates a recurrence skips and
//! its other times of day.

use leptos::prelude::*;

/// The words and test ids of one picker.
pub(super) struct ChipField {
    pub legend: &'static str,
    pub list_testid: &'static str,
    /// `date` or `time`.
    pub input_type: &'static str,
    pub input_label: &'static str,
    pub input_testid: &'static str,
    pub add_text: &'static str,
    pub add_testid: &'static str,
    pub problem_id: &'static str,
    /// The remove button's accessible name for a chip's label.
    pub remove_label: fn(&str) -> String,
}

#[component]
pub(super) fn ChipPicker<T>(
    field: ChipField,
    /// Each value with its label, in the order shown.
    #[prop(into)]
    chips: Signal<Vec<(T, String)>>,
    on_remove: Callback<T>,
    /// Adds what the field holds, or says why it cannot.
    on_add: Callback<String, Result<(), String>>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let picked = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let add = move || match on_add.run(picked.get_untracked()) {
        Ok(()) => {
            problem.set(None);
            picked.set(String::new());
        }
        Err(why) => problem.set(Some(why)),
    };
    let ChipField {
        legend,
        list_testid,
        input_type,
        input_label,
        input_testid,
        add_text,
        add_testid,
        problem_id,
        remove_label,
    } = field;
    view! {
        <fieldset class="field">
            <legend class="field-label">{legend}</legend>
            <ul class="group-chips" data-testid=list_testid>
                {move || chips.get().into_iter().map(|(value, label)| view! {
                    <li class="tag">{label.clone()}
                        <button class="chip-remove" type="button" aria-label=remove_label(&label)
                            on:click=move |_| on_remove.run(value.clone())>"×"</button>
                    </li>
                }).collect_view()}
            </ul>
            <span class="field-row">
                <input class="input" type=input_type aria-label=input_label data-testid=input_testid
                    aria-describedby=problem_id
                    prop:value=move || picked.get()
                    on:input=move |e| picked.set(event_target_value(&e)) />
                <button class="button button-secondary" type="button" data-testid=add_testid on:click=move |_| add()>{add_text}</button>
            </span>
            {move || problem.get().map(|text| view! { <p class="field-problem" id=problem_id role="alert">{text}</p> })}
        </fieldset>
    }
}
