//! One part of a message as the groups will see it: on a reminder's page and on a run's.

use domain::status::MessageKind;
use leptos::prelude::*;

use crate::wire::reminders::PartView;

/// One part as the groups will see it.
#[component]
pub fn PartPreview(part: PartView) -> impl IntoView {
    let media = part.media.map(|m| {
        let url = format!("/api/media/{}", m.id);
        match part.kind {
            MessageKind::Image => view! { <img class="preview-image" src=url alt=m.original_name.clone() loading="lazy" /> }.into_any(),
            MessageKind::Video => view! { <video class="preview-image" src=url controls=true preload="metadata"></video> }.into_any(),
            _ => view! { <a class="preview-file" href=url>{m.original_name.clone()}</a> }.into_any(),
        }
    });
    view! {
        <li class="message-bubble" data-kind=part.kind.as_str()>
            {media}
            {part.body.map(|body| view! { <p class="message-text">{body}</p> })}
        </li>
    }
}
