{#-
    Personal data (METRICS I1) leaves the raw schema only as a salted hash or a masked form.

    hash_pii(expression): lower-case hex SHA-256 of salt || value, null for a null value. The
    salt is var('pii_salt') (WH_PII_SALT); the caller passes the value already normalised
    (trimmed, lower-cased e-mail, digits-only phone) so that the same person hashes alike
    across drops. The three implementations give the same hex string for the same UTF-8 text.
-#}
{% macro hash_pii(expression) %}
    {{ return(adapter.dispatch('hash_pii', 'loyalty_warehouse')(expression)) }}
{% endmacro %}

{#- The salt as a quoted SQL literal; an empty salt would make the hashes guessable. -#}
{% macro pii_salt_literal() %}
    {%- set salt = var('pii_salt', '') | string -%}
    {%- if execute and salt | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "var('pii_salt') is empty: set WH_PII_SALT to a secret, stable value") }}
    {%- endif -%}
    {{- return("'" ~ salt | replace("'", "''") ~ "'") -}}
{% endmacro %}

{% macro default__hash_pii(expression) %}
    case when {{ expression }} is not null
        then sha256({{ dbt.concat([pii_salt_literal(), expression]) }}) end
{% endmacro %}

{% macro duckdb__hash_pii(expression) %}
    case when {{ expression }} is not null
        then sha256({{ dbt.concat([pii_salt_literal(), expression]) }}) end
{% endmacro %}

{% macro postgres__hash_pii(expression) %}
    case when {{ expression }} is not null
        then encode(sha256(convert_to({{ dbt.concat([pii_salt_literal(), expression]) }},
            'UTF8')), 'hex') end
{% endmacro %}

{% macro spark__hash_pii(expression) %}
    case when {{ expression }} is not null
        then sha2({{ dbt.concat([pii_salt_literal(), expression]) }}, 256) end
{% endmacro %}

{#- The digits of a phone number: "138-1234-5678" -> "13812345678". -#}
{% macro digits_only(expression) %}
    {{ return(adapter.dispatch('digits_only', 'loyalty_warehouse')(expression)) }}
{% endmacro %}

{% macro default__digits_only(expression) %}
    regexp_replace({{ expression }}, '[^0-9]', '', 'g')
{% endmacro %}

{% macro spark__digits_only(expression) %}
    regexp_replace({{ expression }}, '[^0-9]', '')
{% endmacro %}

{#-
    A phone number in one canonical form, so that the same number hashes alike however it was
    typed: digits only, and a Chinese number given with its country code (+86 / 0086) turned
    into the national form. Mobiles start with 1 (+86 138 1234 5678 -> 13812345678);
    landlines get their trunk 0 back (+86 21 6234 5678 -> 02162345678). Other numbers are
    left as their digits.
-#}
{% macro phone_digits(expression) %}
    {{ return(adapter.dispatch('phone_digits', 'loyalty_warehouse')(expression)) }}
{% endmacro %}

{% macro default__phone_digits(expression) %}
    regexp_replace(
        regexp_replace({{ digits_only(expression) }}, '^(00)?86(1[0-9]{10})$', '\2'),
        '^(00)?86([2-9][0-9]{8,10})$', '0\2'
    )
{% endmacro %}

{% macro spark__phone_digits(expression) %}
    regexp_replace(
        regexp_replace({{ digits_only(expression) }}, '^(00)?86(1[0-9]{10})$', '$2'),
        '^(00)?86([2-9][0-9]{8,10})$', '0$2'
    )
{% endmacro %}

{#-
    138-1234-5678 -> 138****5678: the canonical digits (phone_digits), the first 3 and the
    last 4 kept. Null when the number has fewer than 11 digits: the mask must hide at least
    as many digits as its stars.
-#}
{% macro mask_phone(expression) %}
    {%- set digits = phone_digits(expression) -%}
    case when length({{ digits }}) >= 11
        then {{ dbt.concat(["left(" ~ digits ~ ", 3)", "'****'", "right(" ~ digits ~ ", 4)"]) }}
    end
{% endmacro %}

{#-
    zhang.wei@example.com -> z***@example.com: the first character of the local part, then
    the domain; null for a value that is not of the form x@y.
-#}
{% macro mask_email(expression) %}
    case when {{ expression }} like '_%@_%'
        then {{ dbt.concat([
            "left(" ~ expression ~ ", 1)",
            "'***@'",
            dbt.split_part(expression, "'@'", 2),
        ]) }}
    end
{% endmacro %}
