//! What a server function fails with.

use std::fmt;

use leptos::{
    prelude::{FromServerFnError, ServerFnError, ServerFnErrorErr},
    server_fn::{Bytes, Decodes, Encodes, error::ServerFnErrorEncoding},
};
use serde::{Deserialize, Serialize};

/// A server function's failure: words for the operator, or the framework's own failure on the
/// way (the server out of reach, an answer that does not read).
///
/// It travels exactly as a [`ServerFnError`] does, so the browser gets the same answers; being
/// Herald's own type, it can take the server's errors with `?`, each logged on the server and
/// told to the browser only as "something went wrong on the server". (The framework already
/// turns any error into a `ServerFnError` with the error's own text, which would leak it.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppError(ServerFnError);

impl AppError {
    /// A failure the operator reads as `message`.
    pub fn new(message: impl ToString) -> Self {
        Self(ServerFnError::new(message))
    }

    /// The failure as the framework knows it, to put it into words.
    pub fn as_server_fn_error(&self) -> &ServerFnError {
        &self.0
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromServerFnError for AppError {
    type Encoder = ServerFnErrorEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self(ServerFnError::from_server_fn_error(value))
    }
}

// The same bytes as a `ServerFnError`'s, both ways: what the browser receives does not change.
impl Encodes<AppError> for ServerFnErrorEncoding {
    type Error = <Self as Encodes<ServerFnError>>::Error;

    fn encode(output: &AppError) -> Result<Bytes, Self::Error> {
        <Self as Encodes<ServerFnError>>::encode(&output.0)
    }
}

impl Decodes<AppError> for ServerFnErrorEncoding {
    type Error = <Self as Decodes<ServerFnError>>::Error;

    fn decode(bytes: Bytes) -> Result<AppError, Self::Error> {
        <Self as Decodes<ServerFnError>>::decode(bytes).map(AppError)
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        super::caller::internal(e)
    }
}

#[cfg(feature = "ssr")]
impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        super::caller::internal(e)
    }
}
