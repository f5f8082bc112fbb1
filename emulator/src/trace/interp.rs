//! The tracing interpreter (placeholder).
