//! minipod-runtime
