//! minipod-manifest
