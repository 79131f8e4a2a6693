from django.db import models


class Note(models.Model):
    text = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return self.text[:50] or f"Note #{self.pk}"
