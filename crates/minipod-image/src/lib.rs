//! minipod-image
