//! OCI runtime spec generation from a [`crate::config::ContainerConfig`].
