//! Mount propagation of volumes (`mountPropagation`) on the host side.
