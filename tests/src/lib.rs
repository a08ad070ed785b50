//! kefu-tests
