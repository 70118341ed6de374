//! Why a connection attempt failed, in words an operator can act on.
//!
//! whatsapp-rust's connect only logs its error, so the transport factory is wrapped: each attempt
//! records whether the socket to WhatsApp opened, and if not, why (DNS, refused, TLS, timeout).
//! The wrapper is also where an attempt asks the worker's [`Mandate`] first: no socket opens for
//! an account this process no longer holds.

use std::sync::{Arc, Mutex, PoisonError};

use crate::provider::Mandate;
use async_trait::async_trait;
use whatsapp_rust::{
    async_channel,
    wacore::net::{Transport, TransportEvent, TransportFactory},
};

/// The last attempt's outcome, shared by a session and its transport factory.
#[derive(Clone, Default)]
pub struct Reach {
    last: Arc<Mutex<Attempt>>,
    account_id: i64,
    mandate: Option<Arc<dyn Mandate>>,
}

#[derive(Clone, Debug, Default)]
enum Attempt {
    #[default]
    NotYet,
    Started,
    Opened,
    Failed(String),
    /// Not attempted: this process no longer holds the account.
    NotMine,
}

impl Reach {
    pub fn new(account_id: i64, mandate: Option<Arc<dyn Mandate>>) -> Self {
        Self {
            last: Arc::default(),
            account_id,
            mandate,
        }
    }

    fn set(&self, attempt: Attempt) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = attempt;
    }

    fn may_connect(&self) -> bool {
        crate::provider::may_connect(self.mandate.as_ref(), self.account_id)
    }

    /// Why the last attempt did not get a socket, if that is where it failed. An attempt that
    /// never finished was cut short by the library's connect timeout.
    pub fn failure(&self, server: &str) -> Option<String> {
        match &*self.last.lock().unwrap_or_else(PoisonError::into_inner) {
            Attempt::NotYet | Attempt::Opened => None,
            Attempt::NotMine => Some(crate::provider::NOT_MINE.to_owned()),
            Attempt::Started => Some(format!("cannot reach WhatsApp at {server}: timed out")),
            Attempt::Failed(e) => Some(format!("cannot reach WhatsApp at {server}: {e}")),
        }
    }

    /// `factory`, recording each attempt here.
    pub fn watch<F: TransportFactory + 'static>(&self, factory: F) -> Watched<F> {
        Watched {
            inner: factory,
            reach: self.clone(),
        }
    }
}

pub struct Watched<F> {
    inner: F,
    reach: Reach,
}

#[async_trait]
impl<F: TransportFactory + 'static> TransportFactory for Watched<F> {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        if !self.reach.may_connect() {
            self.reach.set(Attempt::NotMine);
            return Err(anyhow::anyhow!(
                "this worker no longer holds the account's lease"
            ));
        }
        self.reach.set(Attempt::Started);
        let result = self.inner.create_transport().await;
        self.reach.set(match &result {
            Ok(_) => Attempt::Opened,
            Err(e) => Attempt::Failed(format!("{e:#}")),
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Refused;

    #[async_trait]
    impl TransportFactory for Refused {
        async fn create_transport(
            &self,
        ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error>
        {
            Err(anyhow::anyhow!("Connection refused (os error 111)"))
        }
    }

    #[tokio::test]
    async fn a_refused_socket_is_the_reason() {
        let reach = Reach::default();
        assert_eq!(reach.failure("ws://127.0.0.1:9"), None);
        assert!(reach.watch(Refused).create_transport().await.is_err());
        assert_eq!(
            reach.failure("ws://127.0.0.1:9").as_deref(),
            Some("cannot reach WhatsApp at ws://127.0.0.1:9: Connection refused (os error 111)")
        );
    }

    struct Lost;

    impl Mandate for Lost {
        fn may_connect(&self, _account_id: i64) -> bool {
            false
        }
    }

    #[tokio::test]
    async fn no_socket_opens_for_an_account_this_worker_lost() {
        let reach = Reach::new(7, Some(Arc::new(Lost)));
        let opened = Arc::new(Mutex::new(false));
        struct Opens(Arc<Mutex<bool>>);
        #[async_trait]
        impl TransportFactory for Opens {
            async fn create_transport(
                &self,
            ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error>
            {
                *self.0.lock().unwrap() = true;
                Err(anyhow::anyhow!("opened"))
            }
        }
        assert!(
            reach
                .watch(Opens(opened.clone()))
                .create_transport()
                .await
                .is_err()
        );
        assert!(!*opened.lock().unwrap(), "the factory was never asked");
        assert!(
            reach
                .failure("web.whatsapp.com")
                .is_some_and(|reason| reason.contains("no longer holds the account's lease"))
        );
    }

    #[test]
    fn an_attempt_that_never_finished_timed_out() {
        let reach = Reach::default();
        reach.set(Attempt::Started);
        assert_eq!(
            reach.failure("web.whatsapp.com").as_deref(),
            Some("cannot reach WhatsApp at web.whatsapp.com: timed out")
        );
    }
}
