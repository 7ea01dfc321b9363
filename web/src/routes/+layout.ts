// A client-rendered single-page app: nothing is rendered on a server or at build time (the data
// lives behind the API), and adapter-static writes one index.html that the Kiln server returns
// for every UI path.
export const ssr = false;
export const prerender = false;
