//! `subPath` volume mounts, resolved safely on the host.
