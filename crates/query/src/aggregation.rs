//! [`Aggregation`]: the summaries an analyst asks for beside a query (top values, a histogram over
//! time, a distinct count). Built by the CLI and the API from their own arguments, never parsed
//! from the query string; the backend computes them over the events the query matches.

use std::time::Duration;

/// A summary of the events a query matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Aggregation {
    /// The `top` most frequent values of `field`, with their counts (most frequent first).
    CountBy {
        /// The field, named as in queries ([`crate::is_field_name`]).
        field: String,
        /// How many values to return.
        top: usize,
    },
    /// Event counts per bucket of the event time, buckets `interval` long (aligned on multiples
    /// of the interval since the Unix epoch). Read intervals with [`crate::parse_interval`], which
    /// keeps them between 1 s and 366 days.
    Histogram {
        /// The bucket width.
        interval: Duration,
    },
    /// The number of distinct values of `field` (the backend may approximate; it says so).
    Distinct {
        /// The field, named as in queries.
        field: String,
    },
}
