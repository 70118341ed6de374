pub mod dialog;
pub mod feedback;
pub mod layout;
pub mod live;
pub mod qr_modal;
pub mod run_badge;
pub mod status_badge;
