pub struct Gateway;
