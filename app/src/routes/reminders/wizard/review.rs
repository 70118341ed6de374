//! Step 5: everything at a glance — for an edit, with what it changes — then create (or save).
//! What the server refuses comes back placed on the step that fixes it.

use leptos::prelude::*;

use super::WizardContext;
use crate::{
    clock,
    components::part_preview::PartPreview,
    functions::{accounts::list_accounts, drafts::group_choices},
    wire::reminders::{FieldProblem, PartView, Step},
};

#[component]
pub(super) fn ReviewStep<F>(editing: bool, url_of: F) -> impl IntoView
where
    F: Fn(Step) -> String + Clone + Send + Sync + 'static,
{
    let ctx = expect_context::<WizardContext>();
    let draft = ctx.draft;
    let account_id = Memo::new(move |_| draft.read().account_id);
    let accounts = Resource::new(|| (), |_| list_accounts());
    let groups = Resource::new(
        move || account_id.get(),
        |account| async move {
            match account {
                Some(id) => group_choices(id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    // The browser's own checks, step by step; the server's come after a submit.
    let local_problems = Memo::new(move |_| {
        let d = draft.read();
        let now = clock::now();
        Step::ALL
            .into_iter()
            .flat_map(|step| {
                d.problems(step, now)
                    .into_iter()
                    .map(move |p| FieldProblem {
                        step,
                        message: p.message,
                    })
            })
            .collect::<Vec<_>>()
    });
    let busy = ctx.finishing;
    let submit = move |_| ctx.finish.run(());
    // What the edit changes, step by step, against the reminder as stored.
    let changed = Memo::new(move |_| {
        ctx.original
            .with_value(|original| original.as_ref().map(|o| draft.read().changed_steps(o)))
    });
    let was_summary = ctx.original.with_value(|original| {
        original
            .as_ref()
            .and_then(|o| o.schedule().ok())
            .map(|s| s.summary())
    });
    let tag = move |step: Step| {
        move || {
            changed.get().is_some_and(|steps| steps.contains(&step)).then(|| view! {
                <span class="tag tag-changed" data-testid=format!("changed-{}", step.slug())>"Changed"</span>
            })
        }
    };
    let link = url_of.clone();
    let problem_list = move || {
        // Each once: the server may find what the browser found.
        let mut all = local_problems.get();
        for refused in ctx.refused.get() {
            if !all.contains(&refused) {
                all.push(refused);
            }
        }
        all
    };
    let preview = Memo::new(move |_| {
        let d = draft.read();
        (
            d.schedule().map(|s| s.summary()),
            d.upcoming(clock::now(), 5),
        )
    });

    view! {
        {move || {
            let problems = problem_list();
            (!problems.is_empty()).then(|| {
                let link = link.clone();
                view! {
                    <div class="notice notice-bad" role="alert" data-testid="review-problems">
                        <p><strong>"Before it can be saved:"</strong></p>
                        <ul>
                            {problems.into_iter().map(|p| view! {
                                <li><a href=link(p.step)>{p.step.title()}</a>": "{p.message}</li>
                            }).collect_view()}
                        </ul>
                    </div>
                }
            })
        }}
        {move || changed.get().map(|steps| {
            let text = if steps.is_empty() {
                "Nothing is changed yet.".to_owned()
            } else {
                let names: Vec<&str> = steps.iter().map(|s| s.title()).collect();
                format!("This changes: {}.", names.join(", "))
            };
            view! { <p class="notice" data-testid="review-changes">{text}</p> }
        })}
        <dl class="review" data-testid="review">
            <dt>"Account"{tag(Step::Account)}<a class="edit-link" href=url_of(Step::Account)>"Change"</a></dt>
            <dd>
                <Transition fallback=|| "…">
                    {move || accounts.get().map(|result| {
                        let id = account_id.get();
                        result.ok()
                            .and_then(|list| list.into_iter().find(|a| Some(a.id) == id))
                            .map_or_else(|| "—".to_owned(), |a| a.label)
                    })}
                </Transition>
            </dd>
            <dt>"Name"<a class="edit-link" href=url_of(Step::Message)>"Change"</a></dt>
            <dd data-testid="review-name">{move || draft.read().name.clone()}</dd>
            {move || {
                let was = ctx.original.with_value(|o| o.as_ref().map(|o| o.name.trim().to_owned()));
                was.filter(|was| was != draft.read().name.trim()).map(|was| view! {
                    <dd class="muted" data-testid="review-was-name">"Was: “"{was}"”"</dd>
                })
            }}
            <dt>"Message"{tag(Step::Message)}<a class="edit-link" href=url_of(Step::Message)>"Change"</a></dt>
            <dd>
                <ol class="message-preview">
                    {move || draft.read().parts.iter().map(|p| view! {
                        <PartPreview part=PartView {
                            kind: p.kind,
                            body: Some(p.body.trim().to_owned()).filter(|b| !b.is_empty()),
                            media: p.media.clone(),
                        } />
                    }).collect_view()}
                </ol>
            </dd>
            <dt>"When"{tag(Step::When)}<a class="edit-link" href=url_of(Step::When)>"Change"</a></dt>
            <dd>
                {move || match preview.get() {
                    (Ok(summary), next) => view! {
                        <p data-testid="review-summary">{summary}</p>
                        {next.ok().map(|times| view! {
                            <p class="muted">"Next: "{times.first().map(|t| t.format("%a %-d %b %Y, %H:%M").to_string())}</p>
                        })}
                    }.into_any(),
                    (Err(why), _) => view! { <p class="field-problem">{why}</p> }.into_any(),
                }}
                {move || draft.read().window_end_hour.map(|h| view! { <p class="muted">{format!("Stops sending at {h:02}:00")}</p> })}
                {move || {
                    let when_changed = changed.get().is_some_and(|steps| steps.contains(&Step::When));
                    when_changed.then(|| was_summary.clone()).flatten().map(|was| view! {
                        <p class="muted" data-testid="review-was-when">"Was: "{was}</p>
                    })
                }}
            </dd>
            <dt>"Groups"{tag(Step::Groups)}<a class="edit-link" href=url_of(Step::Groups)>"Change"</a></dt>
            <dd>
                <Transition fallback=|| "…">
                    {move || groups.get().map(|result| {
                        let chosen = draft.read().group_ids.clone();
                        let names: Vec<String> = result.unwrap_or_default().into_iter().filter(|g| chosen.contains(&g.id)).map(|g| g.name).collect();
                        view! {
                            <ul class="group-chips" data-testid="review-groups">
                                {names.into_iter().map(|n| view! { <li class="tag">{n}</li> }).collect_view()}
                            </ul>
                        }
                    })}
                </Transition>
            </dd>
        </dl>
        <div class="actions">
            <button class="button" type="button" data-testid="wizard-submit" disabled=move || busy.get() on:click=submit>
                {if editing { "Save changes" } else { "Create reminder" }}
            </button>
        </div>
    }
}
