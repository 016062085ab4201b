//! How errors map to exit codes: 0 success, 1 failed work, 2 usage or input error.

/// Wraps an error caused by the user's input (a bad file, flag, reference or manifest), so
/// that `main` exits 2 instead of 1. Display and source are the inner error's.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InputError(pub anyhow::Error);

/// `result.map_err(input)?` marks a failure as the user's input being wrong.
pub fn input<E: Into<anyhow::Error>>(e: E) -> anyhow::Error {
    anyhow::Error::new(InputError(e.into()))
}
