//! The development corpus (`shared/corpus`, beside the repository) must stay above the accuracy
//! floors of issue 8. The full report, misses included, is printed on failure.

use std::path::PathBuf;

/// Minimum accuracy per field.
const FLOORS: [(&str, f64); 7] = [
    ("is_transaction", 0.95),
    ("amount", 0.95),
    ("currency", 0.95),
    ("direction", 0.95),
    ("date", 0.90),
    ("last4", 0.90),
    ("merchant", 0.80),
];

#[test]
fn the_corpus_stays_above_the_floors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let report =
        penny_rules::eval::run(&dir).unwrap_or_else(|e| panic!("cannot score {}: {e}", dir.display()));
    assert!(report.emails >= 60, "the corpus has {} emails, expected at least 60\n{report}", report.emails);
    let below: Vec<String> = FLOORS
        .iter()
        .filter(|(field, floor)| report.accuracy(field) < *floor)
        .map(|(field, floor)| {
            format!("{field}: {:.1}% < {:.0}%", 100.0 * report.accuracy(field), 100.0 * floor)
        })
        .collect();
    assert!(below.is_empty(), "below the floors: {below:?}\n{report}");
}
