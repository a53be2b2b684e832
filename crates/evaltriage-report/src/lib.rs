//! evaltriage-report (being written).
