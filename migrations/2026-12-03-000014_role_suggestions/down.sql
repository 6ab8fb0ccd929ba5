DROP TABLE role_suggestions;
