//! Any HTML must render to text without panicking or blowing the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(html) = std::str::from_utf8(data) {
        let _ = penny_mailtext::html_to_text(html);
    }
});
