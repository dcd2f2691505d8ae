FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
USER node
ENV NODE_ENV=production
EXPOSE 8080
# node directly (not npm) so SIGTERM reaches the service and shutdown is graceful.
CMD ["node", "--import", "tsx", "src/main.ts"]
