//! Property: any value string survives the JSON and CSV renderings byte for byte, except for the
//! documented `'` in front of a CSV cell that a spreadsheet would read as a formula.

mod common;

use std::io::Read as _;

use common::*;
use kluis_export::{AccessExport, FORMULA_PREFIX, PortabilityExport, RegisterInput, ValueInput};
use proptest::prelude::*;

fn expected_csv(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("{FORMULA_PREFIX}{value}")
    } else {
        value.to_owned()
    }
}

fn csv_column(bytes: &[u8], column: usize) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    reader.records().map(|r| r.unwrap()[column].to_owned()).collect()
}

fn values_csv(zip_bytes: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut file = archive.by_name("values.csv").unwrap();
    let mut out = Vec::new();
    file.read_to_end(&mut out).unwrap();
    out
}

fn arbitrary_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[=+@\\-\t\r\n,\"' a-z<>&]{0,12}",
        proptest::collection::vec(
            prop_oneof![Just('\u{0}'), Just('\u{feff}'), Just('"'), Just(','), Just('\n'), Just('é'), Just('😀')],
            0..8
        )
        .prop_map(|c| c.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn values_survive_json_and_csv(values in proptest::collection::vec(arbitrary_value(), 1..6)) {
        let register = hosting();
        let inputs: Vec<ValueInput> = values
            .iter()
            .map(|v| value("email", "user.contact.email", "E-mailadres", "E-mail address", v))
            .collect();
        let subject = subject(inputs);
        for reg in [register_input(&register), RegisterInput::default()] {
            let export = AccessExport::build(&subject, &[], &reg, None, NOW_MS).unwrap();
            let back: AccessExport = serde_json::from_slice(&export.to_json()).unwrap();
            let json_values: Vec<&str> = back.subject.values.iter().map(|v| v.value.as_str()).collect();
            prop_assert_eq!(&json_values, &values.iter().map(String::as_str).collect::<Vec<_>>());

            let csv_values = csv_column(&values_csv(&export.to_csv_zip()), 4);
            let expected: Vec<String> = values.iter().map(|v| expected_csv(v)).collect();
            prop_assert_eq!(&csv_values, &expected);
        }

        let portable = PortabilityExport::build(&subject, Some(&register), NOW_MS).unwrap();
        let back: PortabilityExport = serde_json::from_slice(&portable.to_json()).unwrap();
        let json_values: Vec<&str> = back.values.iter().map(|v| v.value.as_str()).collect();
        prop_assert_eq!(&json_values, &values.iter().map(String::as_str).collect::<Vec<_>>());
        let csv_values = csv_column(&portable.to_csv(), 2);
        let expected: Vec<String> = values.iter().map(|v| expected_csv(v)).collect();
        prop_assert_eq!(&csv_values, &expected);
    }
}
