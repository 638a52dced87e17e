//! MIME and HTML to text (work in progress).
