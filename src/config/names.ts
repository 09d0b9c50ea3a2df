/** The one rule for names the operator gives things (callers, SuiteCRM credentials): they appear in logs and metric labels. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const NAME_RULE = "1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";
