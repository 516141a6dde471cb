//! Any bytes as the body of the approval form: parsing never panics, and the
//! fields come out trimmed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::web::approval::Form;

fuzz_target!(|data: &[u8]| {
    let form = Form::parse(data);
    for field in [&form.approver, &form.confirm, &form.decision] {
        assert_eq!(field.trim(), field.as_str());
    }
});
