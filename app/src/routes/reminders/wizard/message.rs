//! Step 2: the reminder's name and its message — parts sent in order, each text or an image,
//! video or document with a caption; added, reordered and removed here.

use domain::{
    message::{MAX_CHARS, grouped},
    status::MessageKind,
};
use leptos::prelude::*;

use super::{FieldProblem, WizardContext, upload::FilePicker};
use crate::wire::reminders::DraftPart;

/// The kinds a part can be, with what the operator calls them.
const KINDS: [(MessageKind, &str); 4] = [
    (MessageKind::Text, "Text"),
    (MessageKind::Image, "Image"),
    (MessageKind::Video, "Video"),
    (MessageKind::Document, "Document"),
];

fn kind_label(kind: MessageKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("Part", |(_, label)| label)
}

#[component]
pub(super) fn MessageStep() -> impl IntoView {
    let ctx = expect_context::<WizardContext>();
    let draft = ctx.draft;
    let count = Memo::new(move |_| draft.read().parts.len());
    let add = move |kind: MessageKind| {
        draft.update(|d| {
            d.parts.push(DraftPart {
                kind,
                body: String::new(),
                media: None,
            })
        })
    };
    view! {
        <div class="field">
            <label class="field-label" for="name">"Name"</label>
            <input
                class="input"
                id="name"
                maxlength="128"
                autocomplete="off"
                placeholder="e.g. Monday stand-up"
                aria-describedby="name-problem"
                prop:value=move || draft.read().name.clone()
                on:input=move |e| draft.update(|d| d.name = event_target_value(&e))
            />
            <FieldProblem field="name" />
        </div>
        <h3 class="field-label" id="parts">"What is sent, in order"</h3>
        <ol class="part-list" data-testid="parts">
            <For each=move || 0..count.get() key=|i| *i let:index>
                <PartEditor index count />
            </For>
        </ol>
        <FieldProblem field="parts" />
        <div class="add-parts" role="group" aria-label="Add a part">
            {KINDS.into_iter().map(|(kind, label)| view! {
                <button class="button button-secondary" type="button" data-testid=format!("add-{}", kind.as_str()) on:click=move |_| add(kind)>
                    "+ "{label}
                </button>
            }).collect_view()}
        </div>
    }
}

/// One part, edited in place. Keyed by position: moving a part moves its content, not the editor.
#[component]
fn PartEditor(index: usize, count: Memo<usize>) -> impl IntoView {
    let ctx = expect_context::<WizardContext>();
    let draft = ctx.draft;
    let part = Memo::new(move |_| draft.read().parts.get(index).cloned());
    let kind = Memo::new(move |_| part.get().map_or(MessageKind::Text, |p| p.kind));
    let body_id = format!("part-{index}-body");
    let body_field = body_id.clone();
    let file_field = format!("part-{index}-file");
    let swap = move |other: usize| draft.update(|d| d.parts.swap(index, other));
    view! {
        <li class="part" data-testid="part" data-kind=move || kind.get().as_str()>
            <div class="part-head">
                <span class="part-title">{move || format!("{}. {}", index + 1, kind_label(kind.get()))}</span>
                <span class="part-tools">
                    <button class="icon-button" type="button" aria-label=format!("Move part {} up", index + 1)
                        disabled=move || index == 0 on:click=move |_| swap(index - 1)>"↑"</button>
                    <button class="icon-button" type="button" aria-label=format!("Move part {} down", index + 1)
                        disabled={move || index + 1 >= count.get()} on:click=move |_| swap(index + 1)>"↓"</button>
                    <button class="icon-button" type="button" aria-label=format!("Remove part {}", index + 1) data-testid="remove-part"
                        on:click=move |_| draft.update(|d| { if index < d.parts.len() { d.parts.remove(index); } })>"✕"</button>
                </span>
            </div>
            {move || (kind.get() != MessageKind::Text).then(|| {
                let file_field = file_field.clone();
                view! { <FilePicker index kind=kind.get() field=file_field /> }
            })}
            <label class="field-label" for=body_id.clone()>
                {move || if kind.get() == MessageKind::Text { "Text" } else { "Caption (optional)" }}
            </label>
            <textarea
                class="input"
                id=body_id
                rows="3"
                aria-describedby=format!("{body_field}-problem")
                prop:value=move || part.get().map(|p| p.body).unwrap_or_default()
                on:input=move |e| {
                    let text = event_target_value(&e);
                    draft.update(|d| if let Some(p) = d.parts.get_mut(index) { p.body = text; });
                }
            ></textarea>
            {move || {
                let chars = part.with(|p| p.as_ref().map_or(0, |p| p.body.trim().chars().count()));
                let over = chars > MAX_CHARS;
                view! {
                    <p class=if over { "field-problem field-hint" } else { "muted field-hint" } data-testid="part-counter">
                        {format!("{} / {} characters", grouped(chars), grouped(MAX_CHARS))}
                    </p>
                }
            }}
            <FieldProblem field=body_field />
        </li>
    }
}
