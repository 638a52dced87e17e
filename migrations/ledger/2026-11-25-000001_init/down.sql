DROP TABLE rules;
DROP TABLE transactions;
DROP TABLE categories;
