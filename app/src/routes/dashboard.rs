use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <Title text="Dashboard" />
        <section class="page">
            <header class="page-header">
                <h1>"Dashboard"</h1>
                <p class="lede">"Your WhatsApp accounts, reminders and deliveries at a glance."</p>
            </header>
            <div class="empty-state">
                <h2>"Nothing to show yet"</h2>
                <p>"Once you pair a WhatsApp account and schedule reminders, their health and recent deliveries appear here."</p>
            </div>
        </section>
    }
}
