//! The classifiers on held-out lines they were never trained or tuned on
//! (`tests/data/heldout/*.tsv`): precision and recall per detector and language, printed (run
//! with `--nocapture`, or `kefu qa eval`) and held above a floor so a change to the training
//! data or the features that makes them worse fails here.

use kefu_qa::engine::detect::{DETECTORS, Detector, parse_labelled};

fn heldout(d: Detector) -> Vec<kefu_qa::engine::detect::Labelled> {
    let path = format!(
        "{}/tests/data/heldout/{}.tsv",
        env!("CARGO_MANIFEST_DIR"),
        d.name()
    );
    parse_labelled(&std::fs::read_to_string(&path).expect("held-out file")).expect("held-out lines")
}

#[test]
fn held_out_precision_and_recall() {
    for d in Detector::ALL {
        let lines = heldout(d);
        let results = DETECTORS.evaluate(d, &lines, d.default_threshold());
        for (lang, m) in &results {
            println!("{:<9} {:<7} {m}", d.name(), lang);
        }
        let (_, all) = results.iter().find(|(l, _)| l == "all").expect("overall");
        assert!(
            all.precision() >= 0.8 && all.recall() >= 0.8,
            "{}: {all}",
            d.name()
        );
    }
}
