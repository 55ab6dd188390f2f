from __future__ import annotations

import marshmallow as ma

from shop.auth.models import Role
from shop.web import Id, Int, Timestamp, page_schema


class RegisterArgs(ma.Schema):
    login = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=3, max=254),
        metadata={"description": "E-mail address or mainland mobile number"},
    )
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=8, max=128))
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


class TokenArgs(ma.Schema):
    login = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=128))


class WeChatLoginArgs(ma.Schema):
    code = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=128), metadata={"description": "wx.login's code"}
    )
    phone_code = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "getPhoneNumber's code: binds (or finds the account of) the verified mobile number"},
    )


class WeChatPhoneArgs(ma.Schema):
    phone_code = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=128), metadata={"description": "getPhoneNumber's code"}
    )


class LogoutArgs(ma.Schema):
    refresh_token = ma.fields.String(load_default=None, metadata={"description": "Also revoke this refresh token"})


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String()
    token_type = ma.fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = Int(required=True, metadata={"description": "Seconds the access token lives"})


class GrantSchema(ma.Schema):
    id = Int(required=True)
    role = ma.fields.Enum(Role, by_value=True, required=True)
    scope_kind = ma.fields.String(allow_none=True)
    scope_id = ma.fields.Method("_scope_id", allow_none=True)

    def _scope_id(self, grant):
        return grant.scope_id if grant.scope_kind else None


class UserSchema(ma.Schema):
    id = Int(required=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    display_name = ma.fields.String(required=True)
    is_active = ma.fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    grants = ma.fields.List(ma.fields.Nested(GrantSchema), required=True)


UserPageSchema = page_schema(UserSchema, "UserPage")


class UserQueryArgs(ma.Schema):
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))


class GrantArgs(ma.Schema):
    role = ma.fields.Enum(Role, by_value=True, required=True)
    scope_id = Id(load_default=None)
