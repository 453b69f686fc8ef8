//! No clear-text email address or phone number from a brand's exports reaches anything
//! roicast writes or says: every importer fixture that holds them is imported with `-v`,
//! and each address and number found in the fixture (in any case, and a number also as
//! its bare digits) must be absent from every output file, manifest and report, and from
//! stdout and stderr.

mod common;

use std::path::Path;

/// The email-looking tokens of `text`, lowercased.
fn emails(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "._%+-@".contains(c)))
        .filter(|t| t.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.')))
        .map(|t| t.trim_matches('.').to_ascii_lowercase())
        .collect()
}

/// The values of the columns whose name mentions a phone, in a CSV fixture.
fn phones(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    let cols: Vec<usize> =
        headers.iter().enumerate().filter(|(_, h)| h.to_ascii_lowercase().contains("phone")).map(|(i, _)| i).collect();
    r.records()
        .map(Result::unwrap)
        .flat_map(|rec| cols.iter().filter_map(|&i| rec.get(i).map(str::to_owned)).collect::<Vec<_>>())
        .filter(|v| v.chars().filter(char::is_ascii_digit).count() >= 7)
        .collect()
}

/// Everything under `dir`, as lowercase text (binary files included, lossily).
fn everything(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_ascii_lowercase());
            out.push('\n');
        }
    }
    out
}

#[test]
fn no_email_or_phone_from_the_exports_is_written_or_logged() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("shopify-orders", &["shopify/orders_export.csv"], &[]),
        ("shopify-orders", &["shopify/orders_api.json"], &[]),
        ("magento-orders", &["magento/orders_rest.json"], &[]),
        ("magento-orders", &["magento/sales_order_grid.csv"], &["--currency", "USD", "--timezone", "+00:00"]),
        ("hubspot-contacts", &["hubspot/contacts.csv"], &["--timezone", "+00:00"]),
        ("stripe-subscriptions", &["stripe/subscriptions.csv"], &[]),
        ("segment", &["segment/events.ndjson"], &[]),
    ];
    let mut checked = 0;
    for (source, files, extra) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["import".to_owned(), (*source).to_owned(), "--out".into(), "ds".into(), "-v".into()];
        let mut secrets = Vec::new();
        for f in *files {
            let path = common::import_fixture(f);
            args.extend(["--input".to_owned(), path.display().to_string()]);
            secrets.extend(emails(&std::fs::read_to_string(&path).unwrap()));
            if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
                for p in phones(&path) {
                    secrets.push(p.chars().filter(char::is_ascii_digit).collect());
                    secrets.push(p.to_ascii_lowercase());
                }
            }
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = common::roicast_in(&argv, dir.path());
        assert_eq!(r.code, 0, "{source} {files:?}: {}", r.stderr);
        assert!(!secrets.is_empty(), "{files:?} holds no email or phone: the case checks nothing");
        let written = everything(&dir.path().join("ds"));
        let said = format!("{}\n{}", r.stdout, r.stderr).to_ascii_lowercase();
        for s in &secrets {
            assert!(!written.contains(s.as_str()), "{source} {files:?}: `{s}` is in the imported dataset");
            assert!(!said.contains(s.as_str()), "{source} {files:?}: `{s}` is in the command's output");
        }
        checked += secrets.len();
    }
    assert!(checked >= 20, "only {checked} emails and phone numbers checked");
}
