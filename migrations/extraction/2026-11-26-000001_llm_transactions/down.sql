DROP TABLE llm_transactions;
DROP INDEX email_extractions_request;
