//! Choosing a part's file: uploaded at once to `POST /api/media` with a progress bar, then
//! referenced by the draft. The server checks the bytes and the size limits; its refusal is
//! shown as it words it.

use domain::status::MessageKind;
use leptos::prelude::*;

use super::{FieldProblem, WizardContext};

/// What the file input offers for each kind (the server decides what is acceptable).
fn accept(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Image => "image/jpeg,image/png,image/webp",
        MessageKind::Video => "video/mp4,video/3gpp",
        _ => "",
    }
}

/// "820 KB", "4.2 MB".
fn size_text(bytes: i64) -> String {
    if bytes < 1_000_000 {
        format!("{} KB", (bytes + 999) / 1000)
    } else {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    }
}

// Only the browser uploads; a server render always shows `Idle`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Debug, PartialEq)]
enum Upload {
    Idle,
    /// Fraction sent, 0 to 1.
    Sending(f64),
    Failed(String),
}

#[component]
pub(super) fn FilePicker(index: usize, kind: MessageKind, field: String) -> impl IntoView {
    let ctx = expect_context::<WizardContext>();
    let draft = ctx.draft;
    let media = Memo::new(move |_| draft.read().parts.get(index).and_then(|p| p.media.clone()));
    let state = RwSignal::new(Upload::Idle);
    let input_id = field.clone();
    // Owned by the picker: leaving the step aborts an upload still under way.
    #[cfg(feature = "hydrate")]
    let in_flight = StoredValue::new_local(None::<browser::InFlight>);
    let on_change = move |e: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        browser::start(e, kind, index, draft, state, in_flight);
        #[cfg(not(feature = "hydrate"))]
        let _ = e;
    };
    view! {
        <div class="file-picker">
            {move || media.get().map(|m| {
                // What the groups will see, before anything is saved.
                let thumbnail = (m.kind == MessageKind::Image).then(|| view! {
                    <img
                        class="file-thumbnail"
                        src=format!("/api/media/{}", m.id)
                        alt=""
                        data-testid="file-thumbnail"
                    />
                });
                view! {
                    <p class="file-chosen" data-testid="file-chosen">
                        {thumbnail}
                        <span class="file-name">{m.original_name}</span>
                        <span class="muted">" · "{size_text(m.size_bytes)}</span>
                    </p>
                }
            })}
            <label class="field-label" for=input_id.clone()>
                {move || if media.get().is_some() { "Replace the file" } else { "Choose a file" }}
            </label>
            <input
                class="input"
                type="file"
                id=input_id
                accept=accept(kind)
                aria-describedby=format!("{field}-problem")
                data-testid="file-input"
                on:change=on_change
            />
            {move || match state.get() {
                Upload::Idle => ().into_any(),
                Upload::Sending(fraction) => view! {
                    <progress class="upload-progress" max="1" value=fraction aria-label="Upload progress" data-testid="upload-progress"></progress>
                }.into_any(),
                Upload::Failed(why) => view! { <p class="field-problem" role="alert">{why}</p> }.into_any(),
            }}
            <FieldProblem field=field.clone() />
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use domain::status::MessageKind;
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{HtmlInputElement, ProgressEvent, XmlHttpRequest};

    use super::Upload;
    use crate::wire::reminders::{MediaRef, ReminderDraft};

    /// The request and its callbacks, kept alive until the upload ends (or the next replaces it).
    pub struct InFlight {
        xhr: XmlHttpRequest,
        _progress: Closure<dyn FnMut(ProgressEvent)>,
        _done: Closure<dyn FnMut(ProgressEvent)>,
    }

    pub fn start(
        event: leptos::ev::Event,
        kind: MessageKind,
        index: usize,
        draft: RwSignal<ReminderDraft>,
        state: RwSignal<Upload>,
        in_flight: StoredValue<Option<InFlight>, LocalStorage>,
    ) {
        let Some(file) = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
        else {
            return;
        };
        // Replacing the slot aborts the previous upload, if it is still going.
        in_flight.set_value(None);
        match send(file, kind, index, draft, state) {
            Ok(request) => in_flight.set_value(Some(request)),
            Err(_) => state.set(Upload::Failed("The upload could not start.".to_owned())),
        }
    }

    fn send(
        file: web_sys::File,
        kind: MessageKind,
        index: usize,
        draft: RwSignal<ReminderDraft>,
        state: RwSignal<Upload>,
    ) -> Result<InFlight, wasm_bindgen::JsValue> {
        let name = js_sys::encode_uri_component(&file.name());
        let url = format!("/api/media?kind={}&name={name}", kind.as_str());
        let xhr = XmlHttpRequest::new()?;
        xhr.open("POST", &url)?;
        if !file.type_().is_empty() {
            xhr.set_request_header("Content-Type", &file.type_())?;
        }
        state.set(Upload::Sending(0.0));
        let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                state.set(Upload::Sending(e.loaded() / e.total()));
            }
        });
        xhr.upload()?
            .set_onprogress(Some(progress.as_ref().unchecked_ref()));
        let request = xhr.clone();
        let done = Closure::<dyn FnMut(ProgressEvent)>::new(move |_: ProgressEvent| {
            let status = request.status().unwrap_or(0);
            let body = request.response_text().ok().flatten().unwrap_or_default();
            match (status, serde_json::from_str::<MediaRef>(&body)) {
                (201, Ok(media)) => {
                    draft.update(|d| {
                        if let Some(part) = d.parts.get_mut(index) {
                            part.media = Some(media);
                        }
                    });
                    state.set(Upload::Idle);
                }
                (0, _) => state.set(Upload::Failed(
                    "Could not reach Herald. Check the connection and try again.".to_owned(),
                )),
                _ => state.set(Upload::Failed(refusal(&body))),
            }
        });
        xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
        xhr.send_with_opt_blob(Some(&file))?;
        Ok(InFlight {
            xhr,
            _progress: progress,
            _done: done,
        })
    }

    /// The server's `{"error": "..."}`, or a plain sentence when there is none.
    fn refusal(body: &str) -> String {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "The upload failed. Try again.".to_owned())
    }

    impl Drop for InFlight {
        fn drop(&mut self) {
            // A replaced or abandoned upload must not land in the draft later.
            if self.xhr.ready_state() != XmlHttpRequest::DONE {
                let _ = self.xhr.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::size_text;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size_text(820_000), "820 KB");
        assert_eq!(size_text(1), "1 KB");
        assert_eq!(size_text(4_200_000), "4.2 MB");
    }
}
