//! Aggregations over partitions, with tantivy's aggregation collectors: each partition gives
//! intermediate results, which merge into one answer.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};
use shieldwall_query::Aggregation;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{
    AggContextParams, AggregationLimitsGuard, DistributedAggregationCollector,
};
use tantivy::query::Query as TQuery;

use super::partition::{Bounds, Partition, guarded};
use super::{AggregationResult, StoreError};

/// How many values each segment contributes to a count-by, as a multiple of the top asked for:
/// more makes merged counts exact more often, at some memory.
const SEGMENT_FACTOR: usize = 10;

fn field_path(field: &str) -> String {
    match field {
        "time" | "received" | "id" => field.to_owned(),
        path => format!("f.{path}"),
    }
}

fn request(aggregations: &[Aggregation]) -> Result<Aggregations, StoreError> {
    let mut map = serde_json::Map::new();
    for (i, aggregation) in aggregations.iter().enumerate() {
        let body = match aggregation {
            Aggregation::CountBy { field, top } => json!({
                "terms": {
                    "field": field_path(field),
                    "size": top,
                    "segment_size": top.saturating_mul(SEGMENT_FACTOR).max(100),
                    "show_term_doc_count_error": true,
                }
            }),
            Aggregation::Histogram { interval } => {
                let secs = interval.as_secs().max(1);
                json!({ "date_histogram": { "field": "time", "fixed_interval": format!("{secs}s"), "min_doc_count": 1 } })
            }
            Aggregation::Distinct { field } => {
                json!({ "cardinality": { "field": field_path(field) } })
            }
        };
        map.insert(format!("a{i}"), body);
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| StoreError::Query(format!("aggregation: {e}")))
}

pub(crate) fn run(
    partitions: &[(Arc<Partition>, Bounds)],
    query: &dyn TQuery,
    aggregations: &[Aggregation],
) -> Result<Vec<AggregationResult>, StoreError> {
    if aggregations.is_empty() {
        return Ok(Vec::new());
    }
    let mut merged: Option<IntermediateAggregationResults> = None;
    for (partition, _) in partitions {
        let collector = DistributedAggregationCollector::from_aggs(
            request(aggregations)?,
            AggContextParams::new(
                AggregationLimitsGuard::default(),
                partition.index().tokenizers().clone(),
            ),
        );
        let fruit = guarded(&partition.path, || {
            partition
                .searcher()
                .search(query, &collector)
                .map_err(StoreError::index(&partition.path))
        })?;
        match &mut merged {
            Some(m) => m
                .merge_fruits(fruit)
                .map_err(StoreError::index(&partition.path))?,
            None => merged = Some(fruit),
        }
    }
    let final_json = match merged {
        Some(m) => {
            let result = m
                .into_final_result(request(aggregations)?, AggregationLimitsGuard::default())
                .map_err(|e| StoreError::Query(format!("aggregation: {e}")))?;
            serde_json::to_value(result)
                .map_err(|e| StoreError::Query(format!("aggregation: {e}")))?
        }
        None => Value::Null,
    };
    Ok(aggregations
        .iter()
        .enumerate()
        .map(|(i, aggregation)| read_result(aggregation, final_json.get(format!("a{i}"))))
        .collect())
}

fn read_result(aggregation: &Aggregation, value: Option<&Value>) -> AggregationResult {
    let count = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let buckets = value
        .and_then(|v| v.get("buckets"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match aggregation {
        Aggregation::CountBy { field, .. } => AggregationResult::CountBy {
            field: field.clone(),
            buckets: buckets
                .iter()
                .map(|b| {
                    let key = match b.get("key") {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    (key, count(b.get("doc_count")))
                })
                .collect(),
            other: count(value.and_then(|v| v.get("sum_other_doc_count"))),
            error_bound: count(value.and_then(|v| v.get("doc_count_error_upper_bound"))),
        },
        Aggregation::Histogram { interval } => AggregationResult::Histogram {
            interval_secs: interval.as_secs().max(1),
            buckets: buckets
                .iter()
                .filter_map(|b| {
                    let ms = b.get("key").and_then(Value::as_f64)?;
                    #[allow(clippy::cast_possible_truncation)]
                    let at = Timestamp::from_millisecond(ms as i64).ok()?;
                    Some((at, count(b.get("doc_count"))))
                })
                .collect(),
        },
        Aggregation::Distinct { field } => AggregationResult::Distinct {
            field: field.clone(),
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            count: value
                .and_then(|v| v.get("value"))
                .and_then(Value::as_f64)
                .map_or(0, |f| f.round() as u64),
        },
    }
}
