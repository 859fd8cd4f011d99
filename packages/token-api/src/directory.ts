import { Client, EqualityFilter, OrFilter } from 'ldapts';

/** Who logged in: the LDAP login name, the owner id (their mail address, lower-cased) and role. */
export interface Identity {
  login: string;
  /** The mailbox owner id: the routing key of their queue, as the gateway's owner map names it. */
  owner: string;
  admin: boolean;
}

/** Checks a login name and password; null when they do not match a user. */
export interface Directory {
  authenticate(login: string, password: string): Promise<Identity | null>;
}

export interface LdapDirectoryOptions {
  /** e.g. ldap://127.0.0.1:389 (ldaps:// for TLS). */
  url: string;
  /** Where users are searched, e.g. ou=people,dc=example,dc=test. */
  userBase: string;
  /** Attributes a login may match (the login is escaped). Default ['uid', 'mail']. */
  loginAttributes?: string[];
  /** Members of this groupOfNames are admins. */
  adminGroupDn?: string;
  /** Service account for the search; anonymous when not given. */
  bindDn?: string;
  bindPassword?: string;
  timeoutMs?: number;
}

// Login names are user names or mail addresses: anything else is refused before LDAP sees it.
const LOGIN = /^[A-Za-z0-9._%+@-]{1,128}$/;

/**
 * Search-then-bind against LDAP with ldapts: find the one entry whose uid (or mail) is the login,
 * then bind as that entry with the password. Filter values are escaped by ldapts' filter objects;
 * empty passwords are refused here, since LDAP treats them as an anonymous bind that succeeds.
 */
export class LdapDirectory implements Directory {
  readonly #o: LdapDirectoryOptions;

  constructor(options: LdapDirectoryOptions) {
    this.#o = options;
  }

  #client(): Client {
    const timeout = this.#o.timeoutMs ?? 5000;
    return new Client({ url: this.#o.url, timeout, connectTimeout: timeout });
  }

  async authenticate(login: string, password: string): Promise<Identity | null> {
    if (!LOGIN.test(login) || password.length === 0) return null;
    const search = this.#client();
    let dn: string;
    let mail: string | undefined;
    try {
      if (this.#o.bindDn) await search.bind(this.#o.bindDn, this.#o.bindPassword ?? '');
      const filter = new OrFilter({
        filters: (this.#o.loginAttributes ?? ['uid', 'mail']).map(
          (attribute) => new EqualityFilter({ attribute, value: login }),
        ),
      });
      const { searchEntries } = await search.search(this.#o.userBase, {
        scope: 'sub',
        filter,
        attributes: ['mail'],
        sizeLimit: 2,
      });
      if (searchEntries.length !== 1) return null;
      const [entry] = searchEntries;
      if (!entry) return null;
      dn = entry.dn;
      mail = Array.isArray(entry.mail) ? String(entry.mail[0]) : entry.mail ? String(entry.mail) : undefined;
    } finally {
      await search.unbind().catch(() => {});
    }
    if (!mail) return null; // no mailbox, no queue
    const user = this.#client();
    try {
      await user.bind(dn, password);
      let admin = false;
      if (this.#o.adminGroupDn) {
        const { searchEntries } = await user.search(this.#o.adminGroupDn, {
          scope: 'base',
          filter: new EqualityFilter({ attribute: 'member', value: dn }),
          attributes: ['cn'],
        });
        admin = searchEntries.length > 0;
      }
      return { login, owner: mail.toLowerCase(), admin };
    } catch (err) {
      if ((err as { code?: number }).code === 49) return null; // invalidCredentials
      throw err;
    } finally {
      await user.unbind().catch(() => {});
    }
  }
}
