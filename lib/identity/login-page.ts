import { escapeHtml } from './html';

/**
 * The sign-in page of the development identity provider, in Chinese with English beneath: plain
 * HTML, no script, every value escaped. The form posts to the interaction's own address, which
 * oidc-provider only accepts together with that interaction's cookie (SameSite=Lax, so a form on
 * another site cannot post with it).
 */
const STYLE = `body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}h1 small{display:block;font-size:.9rem;color:#57606a;font-weight:normal}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.45rem;box-sizing:border-box;font-size:1rem}
button{margin-top:1.2rem;padding:.5rem 1.2rem;font-size:1rem}.error{color:#b42318;background:#fef3f2;padding:.5rem}
.note{color:#57606a;font-size:.85rem;margin-top:2rem}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
${body}
</body>
</html>
`;
}

export interface LoginPageInput {
  uid: string;
  clientId: string;
  username?: string;
  failed?: boolean;
}

export function loginPage({ uid, clientId, username, failed }: LoginPageInput): string {
  const error = failed ? `<p class="error" role="alert">用户名或密码不正确。<br>Wrong username or password.</p>` : '';
  return page(
    '登录 · Sign in',
    `<h1>地方科协深化改革工作试点 · 登录<small>Reform pilots · Sign in</small></h1>
<p>登录后返回 <strong>${escapeHtml(clientId)}</strong>。<br>You will return to <strong>${escapeHtml(clientId)}</strong> after signing in.</p>
${error}
<form method="post" action="/interaction/${encodeURIComponent(uid)}/login" autocomplete="off">
<label for="username">用户名 · Username</label>
<input id="username" name="username" required autofocus value="${escapeHtml(username ?? '')}">
<label for="password">密码 · Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">登录 · Sign in</button>
</form>
<p class="note">开发环境：每个角色一个用户，密码见数据目录中的 idp-users.json。<br>Development: one user per role; the passwords are in idp-users.json in the data directory.</p>`,
  );
}

/** An interaction that cannot go on (expired, unknown, or for another client): start again. */
export function interactionErrorPage(): string {
  return page(
    '无法继续登录 · Cannot continue',
    `<h1>登录已失效<small>This sign-in can no longer continue</small></h1>
<p>登录请求已过期或无效，请回到原来的页面重新登录。<br>The sign-in request has expired or is not valid: go back to where you came from and sign in again.</p>`,
  );
}
