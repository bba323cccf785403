import { useState } from "preact/hooks";
import { api, type SessionInfo } from "../api.ts";
import { ErrorNote } from "../components.tsx";

/** Sign in with an API token; the API answers with an HttpOnly session cookie, the token is not kept. */
export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (s: SessionInfo) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api.session.signIn(token.trim());
      setToken("");
      onSignedIn(session);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="signin">
      <h1>Reactorcide</h1>
      <form onSubmit={submit}>
        {notice && <p class="notice">{notice}</p>}
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} placeholder="rcd_…" />
        <p class="hint">
          A token from <code>reactorcide token create</code> (or the one <code>serve</code> printed at its first start). The page keeps only a
          session cookie, for 12 hours at most.
        </p>
        <button type="submit" disabled={busy || token.trim() === ""}>Sign in</button>
        <ErrorNote error={error} />
      </form>
    </div>
  );
}
