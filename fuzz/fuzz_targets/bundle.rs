//! An export bundle on the offline machine: checking its signature and
//! reading its index, report entries and audit log never panics, whatever
//! the tar holds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = peluit::decrypt::check_bundle_signature(&mut std::io::Cursor::new(data));
    let _ = peluit::decrypt::read_bundle_index(data);
    let _ = peluit::decrypt::read_bundle_reports(std::io::Cursor::new(data), |_| ());
    let _ = peluit::decrypt::verify_bundle_log(data, None, None);
});
