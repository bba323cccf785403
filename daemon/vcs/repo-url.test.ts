import { describe, expect, test } from "bun:test";
import { repoKey, sameRepo } from "./repo-url.ts";

describe("repository URLs", () => {
  test("scheme, credentials, host case, default ports, trailing .git and / do not matter; the path's case does", () => {
    const same = [
      "https://github.com/Acme/Web.git",
      "https://GitHub.com/Acme/Web/",
      "http://github.com/Acme/Web",
      "git@github.com:Acme/Web.git",
      "ssh://git@github.com:22/Acme/Web.git",
      "git://github.com/Acme/Web.git",
      "https://user:token@github.com/Acme/Web.git",
    ];
    for (const url of same) expect(repoKey(url)).toBe("github.com/Acme/Web");
    expect(sameRepo("https://github.com/Acme/Web", "https://github.com/acme/web")).toBe(false);
    expect(sameRepo("http://127.0.0.1:8123/acme/web.git", "http://127.0.0.1:8124/acme/web.git")).toBe(false);
    expect(sameRepo("https://gitlab.example/group/sub/app.git", "git@gitlab.example:group/sub/app.git")).toBe(true);
  });

  test("what names no repository is null, so it matches nothing", () => {
    for (const url of ["", "   ", "https://github.com", "https://github.com/", "not a url"]) expect(repoKey(url)).toBeNull();
  });
});
