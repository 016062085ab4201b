//! minipod-pod
