//! kefu
