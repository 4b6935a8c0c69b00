//! Fuzzes manifest parsing and, for manifests that validate, planning and every renderer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_catalog::Catalog;
use shieldwall_plan::{Format, PlanOptions, manifest, plan, render};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(catalog) = Catalog::embedded() else { return };
    let Ok(m) = manifest::parse("fuzz.toml", text, catalog) else { return };
    let options = PlanOptions::new(jiff::civil::date(2026, 11, 30));
    if let Ok(report) = plan(catalog, &m, &[], &options) {
        for format in Format::ALL {
            let _ = render(&report, catalog, format);
        }
    }
});
