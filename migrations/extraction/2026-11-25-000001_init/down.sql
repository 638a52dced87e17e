DROP TABLE email_extractions;
