import { access } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Serves the built SvelteKit app at `/` with a single-page-app fallback: a GET for an unknown path
 * outside /api that does not name a file answers index.html, so deep links work. Anything else unknown is a JSON 404.
 */
export async function installUi(app: FastifyInstance, webRoot: string): Promise<void> {
  const built = await access(join(webRoot, 'index.html')).then(
    () => true,
    () => false,
  );
  if (built) {
    await app.register(fastifyStatic, {
      root: webRoot,
      wildcard: true,
      cacheControl: false,
      allowedPath: (pathName) => !isApiPath(pathName),
      setHeaders: (res, filePath) => {
        // SvelteKit puts content-hashed files under _app/immutable/; everything else may change on rebuild.
        const immutable = filePath.includes('/_app/immutable/');
        res.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  } else {
    app.log.warn({ webRoot }, 'web UI not built; run `make build` to serve it');
  }

  const uiMissing = (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(503).send({ error: `the web UI is not built (no index.html in ${webRoot}); run \`make build\`` });
  if (!built) app.get('/', uiMissing);

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    if (isRead && !isApiPath(path) && !looksLikeFile(path)) {
      return built ? reply.sendFile('index.html') : uiMissing(request, reply);
    }
    return reply.code(404).send({ error: `no such endpoint: ${request.method} ${path}` });
  });
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

function looksLikeFile(path: string): boolean {
  return /\.[^/]*$/.test(path);
}
